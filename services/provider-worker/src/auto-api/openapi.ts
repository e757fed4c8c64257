import type { Column, Schema } from "./model";

function columnSchema(c: Column): Record<string, unknown> {
  const base: Record<string, unknown> = (() => {
    switch (c.family) {
      case "integer":
        return { type: "integer" };
      case "float":
        return { type: "number" };
      case "bigint":
        return { type: "string", pattern: "^-?[0-9]+$", description: "bigint, as a string (no precision lost)" };
      case "decimal":
        return { type: "string", description: "decimal, as a string (no precision lost)" };
      case "boolean":
        return { type: "boolean" };
      case "json":
        return {};
      case "timestamp":
        return { type: "string", format: "date-time" };
      case "date":
        return { type: "string", format: "date" };
      case "time":
        return { type: "string", format: "time" };
      case "binary":
        return { type: "string", contentEncoding: "base64" };
      case "uuid":
        return { type: "string", format: "uuid" };
      case "array":
        return { type: "array" };
      case "text":
        return { type: "string" };
    }
  })();
  const withNull = c.nullable && typeof base.type === "string" ? { ...base, type: [base.type, "null"] } : base;
  return { ...withNull, "x-db-type": c.type };
}

const err = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });

/** An OpenAPI 3.1 document of one database's table routes, generated from the schema as introspected now. */
export function openApiDocument(schema: Schema, basePath: string, title: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    Error: { type: "object", properties: { detail: {}, code: { type: "string" }, request_id: { type: "string" } }, required: ["detail", "code"] },
    RowsAffected: { type: "object", properties: { rows_affected: { type: "integer" } }, required: ["rows_affected"] },
  };
  const filterParams = (cols: Column[]) =>
    cols.map((c) => ({ name: c.name, in: "query", required: false, schema: { type: "string" }, description: `Filter: op.value (eq ne lt gt le ge bw in nin li rli is) on ${c.type}` }));
  const paging = [
    { name: "select", in: "query", schema: { type: "string" } },
    { name: "order", in: "query", schema: { type: "string" } },
    { name: "limit", in: "query", schema: { type: "integer", minimum: 0, maximum: 1000, default: 100 } },
    { name: "offset", in: "query", schema: { type: "integer", minimum: 0 } },
    { name: "count", in: "query", schema: { enum: ["exact"] } },
  ];
  const errors = { 401: err("Not authenticated"), 403: err("Role too low"), 404: err("Unknown database or table"), 422: err("Unknown column or bad value"), 503: err("Database unreachable"), 504: err("Statement timeout") };
  for (const t of [...schema.tables.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const name = `${t.name}`;
    schemas[name] = {
      type: "object",
      properties: Object.fromEntries(t.columns.map((c) => [c.name, columnSchema(c)])),
      required: t.columns.filter((c) => !c.nullable && c.default === null).map((c) => c.name),
    };
    const ref = { $ref: `#/components/schemas/${encodeURIComponent(name)}` };
    const path = `${basePath}/${encodeURIComponent(t.name)}`;
    const item: Record<string, unknown> = {
      get: { operationId: `read_${name}`, summary: `Rows of ${t.name}`, parameters: [...paging, ...filterParams(t.columns)], responses: { 200: { description: "Rows", content: { "application/json": { schema: { type: "array", items: ref } } } }, ...errors } },
    };
    if (!t.view) {
      const affected = { description: "Rows affected", content: { "application/json": { schema: { $ref: "#/components/schemas/RowsAffected" } } } };
      item.post = { operationId: `insert_${name}`, summary: `Insert rows into ${t.name} (atomic)`, requestBody: { required: true, content: { "application/json": { schema: { oneOf: [ref, { type: "array", items: ref }] } } } }, responses: { 201: affected, 409: err("Unique or foreign key violation"), ...errors } };
      item.put = { operationId: `update_${name}`, summary: `Update rows of ${t.name} matching the filters`, parameters: filterParams(t.columns), requestBody: { content: { "application/json": { schema: { type: "object" } } } }, responses: { 200: affected, 400: err("No filter and no all=true"), 409: err("Unique or foreign key violation"), ...errors } };
      item.delete = { operationId: `delete_${name}`, summary: `Delete rows of ${t.name} matching the filters`, parameters: filterParams(t.columns), responses: { 200: affected, 400: err("No filter and no all=true"), 409: err("Foreign key violation"), ...errors } };
    }
    paths[path] = item;
    if (t.primaryKey.length > 0) {
      paths[`${path}/{key}`] = {
        get: { operationId: `get_${name}`, summary: `One row of ${t.name} by ${t.primaryKey.map((c) => c.name).join(",")}`, parameters: [{ name: "key", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "The row", content: { "application/json": { schema: ref } } }, ...errors } },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: { title, version: schema.digest.slice(0, 12) },
    paths,
    components: { schemas, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    security: [{ bearer: [] }],
  };
}
