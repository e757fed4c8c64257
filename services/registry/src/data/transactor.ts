import type { Transactor, TxRepositories } from "../domain/ports";
import { PrismaApiKeyRepository } from "./api-key.repository";
import { PrismaOrgRepository } from "./org.repository";
import { PrismaEventOutbox } from "./outbox.repository";
import type { Db } from "./prisma";
import { PrismaProjectRepository } from "./project.repository";
import { PrismaSpaceRepository } from "./space.repository";

/** One Prisma interactive transaction per run, with the repositories and the outbox bound to it. */
export class PrismaTransactor implements Transactor {
  constructor(
    private readonly db: Db,
    /** Called after a commit that wrote events: wakes the relay instead of waiting for its poll. */
    private readonly onEventsCommitted: () => void = () => undefined,
  ) {}

  async run<T>(fn: (tx: TxRepositories) => Promise<T>): Promise<T> {
    let wroteEvents = false;
    const result = await this.db.$transaction(
      async (tx) =>
        fn({
          orgs: new PrismaOrgRepository(tx),
          projects: new PrismaProjectRepository(tx),
          spaces: new PrismaSpaceRepository(tx),
          apiKeys: new PrismaApiKeyRepository(tx),
          events: new PrismaEventOutbox(tx, () => (wroteEvents = true)),
        }),
      // Prisma's defaults (2 s to get a connection, 5 s to finish) fail a burst of creates on a
      // busy machine; these writes are a few statements, the bound only guards a wedged one.
      { maxWait: 10_000, timeout: 15_000 },
    );
    if (wroteEvents) this.onEventsCommitted();
    return result;
  }
}
