import { registryEvents, type MessageContract } from "@pragma/contracts";
import type { Broker } from "@pragma/messaging";
import type { RegistryOutboxEvent } from "../data/outbox.repository";

const contracts = new Map<string, MessageContract<unknown>>(Object.values(registryEvents).map((c) => [c.type, c as MessageContract<unknown>]));

/**
 * The relay's publish: an outbox row onto its contract's route (pragma.events), resolved
 * when the broker confirms. Not mandatory: a broadcast with no subscriber bound yet is
 * delivered to nobody, not a failure to retry forever.
 */
export function publishRegistryEvent(broker: Broker): (event: RegistryOutboxEvent) => Promise<void> {
  return async (event) => {
    const contract = contracts.get(event.type);
    if (!contract) throw new Error(`no contract for registry event type "${event.type}"`);
    await broker.publish(contract, event.payload, {
      messageId: event.event_id,
      ...(event.correlation_id ? { correlationId: event.correlation_id } : {}),
      headers: event.headers,
      mandatory: false,
    });
  };
}
