import mysql from "mysql2/promise";
import { autoApiSuite } from "./auto-api-suite";

const MYSQL = { host: process.env.PRAGMA_TEST_MYSQL_HOST ?? "127.0.0.1", port: Number(process.env.PRAGMA_TEST_MYSQL_PORT ?? 3306), user: process.env.PRAGMA_TEST_MYSQL_USER ?? "root", password: process.env.PRAGMA_TEST_MYSQL_PASSWORD ?? "" };

async function createDb(name: string) {
  const c = await mysql.createConnection({ ...MYSQL, multipleStatements: true });
  await c.query(`CREATE DATABASE \`${name}\`; USE \`${name}\`;
    CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL DEFAULT 7, price DECIMAL(10,2) NOT NULL,
      big BIGINT NOT NULL, active BOOLEAN NOT NULL, meta JSON, created DATETIME(3) NOT NULL, data BLOB, note TEXT,
      CONSTRAINT items_name_key UNIQUE (name)) ENGINE=InnoDB;
    CREATE TABLE parents (id INT PRIMARY KEY) ENGINE=InnoDB;
    CREATE TABLE children (id INT PRIMARY KEY, parent_id INT NOT NULL, CONSTRAINT children_parent_fk FOREIGN KEY (parent_id) REFERENCES parents(id)) ENGINE=InnoDB;
    CREATE VIEW active_items AS SELECT id, name FROM items WHERE active;
    CREATE VIEW slow AS SELECT SLEEP(3) AS s;
    CREATE VIEW sleepy AS SELECT SLEEP(0.3) AS s;`);
  return {
    exec: async (sql: string) => (await c.query(sql))[0] as unknown[],
    drop: async () => {
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

describe("Auto API on MariaDB/MySQL", () => {
  autoApiSuite({ name: "mysql", server: { host: MYSQL.host, port: String(MYSQL.port), username: MYSQL.user, password: MYSQL.password }, create: createDb });
});
