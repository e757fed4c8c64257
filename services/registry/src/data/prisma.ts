import { PrismaPg } from "@prisma/adapter-pg";
import { createPgPool, type PoolLogger } from "@pragma/db";
import type { Pool } from "pg";
import { Prisma, PrismaClient } from "../generated/prisma/client";
import { UniqueViolation } from "../domain/ports";

export type Db = PrismaClient;
/** A client bound to an interactive transaction. */
export type Tx = Prisma.TransactionClient;
/** Repositories run on the plain client or on a transaction's. */
export type Client = Db | Tx;

/** `fn` atomically: in a transaction of its own, or in the caller's one (Prisma does not nest them). */
export function atomically<T>(db: Client, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return "$transaction" in db ? db.$transaction(fn) : fn(db);
}

/** The registry's one pool, which the Prisma client runs on: its usage is a metric and its `SELECT 1` the readiness check. */
export function createPool(databaseUrl: string, logger?: PoolLogger): Pool {
  return createPgPool({ connectionString: databaseUrl }, "registry", logger);
}

export function createPrismaClient(pool: Pool, schema: string): Db {
  return new PrismaClient({ adapter: new PrismaPg(pool, { schema }) });
}

/** Runs `fn`, turning Prisma's unique violation into the domain's, so the domain never sees Prisma types. */
export async function mapUnique<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") {
      const target = (err.meta as { target?: unknown; modelName?: unknown } | undefined)?.target;
      throw new UniqueViolation(Array.isArray(target) ? target.join(",") : typeof target === "string" ? target : undefined);
    }
    throw err;
  }
}

export const iso = (d: Date): string => d.toISOString();
