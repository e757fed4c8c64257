import { EXCHANGES, HEADERS, type MessageContract } from "@pragma/contracts";
import type { Logger } from "@pragma/logger";
import type { Broker } from "@pragma/messaging";
import type { EventSink, TenantHeaders } from "../domain/ports";

/**
 * Events go out after the database commit. A failed publish is logged and the
 * request still succeeds: the row is the truth and a retry of the create returns
 * created:false without re-publishing. Known limitation: such an event is lost;
 * an outbox (as the resource store has) would close that gap.
 */
export class BrokerEventSink implements EventSink {
  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {}

  async publish<T>(contract: MessageContract<T>, payload: T, tenant: TenantHeaders): Promise<void> {
    const headers: Record<string, unknown> = { [HEADERS.orgId]: tenant.orgId };
    if (tenant.projectId) headers[HEADERS.projectId] = tenant.projectId;
    if (tenant.spaceId) headers[HEADERS.spaceId] = tenant.spaceId;
    try {
      // Broadcast: no subscriber bound yet is normal, not a failed publish.
      await this.broker.publish(contract, payload, { exchange: EXCHANGES.events, routingKey: contract.type, headers, mandatory: false });
    } catch (err) {
      this.logger.warn({ type: contract.type, orgId: tenant.orgId, projectId: tenant.projectId, err: { name: (err as Error).name, message: (err as Error).message } }, "event publish failed");
    }
  }
}
