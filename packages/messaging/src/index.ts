export * from "./api";
export { connectBroker } from "./broker";
export { DIRECT_REPLY_TO, REQUEST_MESSAGE_ID_HEADER } from "./message-properties";
export { isPermanentError } from "./deliveries";
export { UnroutableError, NackError, ConnectionLostError, MessageValidationError, MessageTooLargeError } from "./errors";
export * from "./topology";
export { subscribeToNotifications, type NotificationSubscription } from "./notifications";
export { OutboxRelay, type OutboxBatch, type OutboxSource, type RelayDeps } from "./outbox-relay";
