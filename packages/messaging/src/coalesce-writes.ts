import type { Socket } from "node:net";

const PATCHED = Symbol("pragma.coalesceWrites");

/**
 * amqplib writes every frame with its own socket.write, so each ack, reply and publish
 * costs a syscall (and on loopback the receiver's TCP work too); under load they made
 * up most of a service's CPU. Corking on the first write of a tick and uncorking on the
 * next tick sends everything written in that tick as one writev. Frames stay in order
 * and nothing waits longer than the current tick.
 */
export function coalesceWrites(socket: Socket | undefined): void {
  if (!socket || typeof socket.cork !== "function" || (socket as unknown as Record<symbol, boolean>)[PATCHED]) return;
  (socket as unknown as Record<symbol, boolean>)[PATCHED] = true;
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket["write"];
}
