import type { Server } from "node:http";
import type { Server as NetServer } from "node:net";
import { parseStatusListen } from "@hb/config";
import type { Clock, TimerHandle } from "@hb/core";
import { controlSocketPath, type StatusEndpointState } from "@hb/protocol";
import type { Logger } from "pino";
import { startControlSocket, type ControlHandler } from "./control.js";
import { startStatusServer, type StatusSource } from "./status-server.js";

/**
 * The read-only status endpoint. A port held by another process, or a value hbd cannot use,
 * never stops hbd: the loop runs, the problem is logged loudly and shown in the health and in
 * the control socket's status; binding is retried every round.
 */
export class StatusEndpoint {
  private server: { server: Server; address: string } | undefined;
  private state: StatusEndpointState = { listen: "", bound: false, error: "not started" };
  private retryTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly deps: { readonly clock: Clock; readonly log: Logger; readonly source: StatusSource }) {}

  get address(): string | undefined {
    return this.server?.address;
  }

  get view(): StatusEndpointState {
    return { ...this.state };
  }

  async bind(listen: string, allowRemote: boolean, retryMs: number): Promise<void> {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    const { log } = this.deps;
    let address: { host: string; port: number };
    try {
      address = parseStatusListen(listen, allowRemote);
    } catch (error) {
      this.state = { listen, bound: false, error: (error as Error).message };
      log.error({ listen }, `NO STATUS ENDPOINT: ${this.state.error}; hbd runs and protects the host, see hb status`);
      return;
    }
    try {
      this.server = await startStatusServer(address, this.deps.source);
      if (!this.state.bound && this.state.error !== "not started") log.warn({ listen }, "status endpoint bound");
      this.state = { listen: this.server.address, bound: true, error: null };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message = code === "EADDRINUSE" ? `${listen} is held by another process (EADDRINUSE)` : `cannot listen on ${listen}: ${code ?? (error as Error).message}`;
      const first = this.state.error !== message;
      this.state = { listen, bound: false, error: message };
      if (first) log.error({ listen }, `NO STATUS ENDPOINT: ${message}; hbd runs and protects the host, see hb status; retrying every round`);
      if (this.stopped) return;
      this.retryTimer = this.deps.clock.setTimer(retryMs, () => void this.bind(listen, allowRemote, retryMs));
    }
  }

  /** No more binding: the first step of a stop. */
  stopRetrying(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
  }

  async close(): Promise<void> {
    this.stopRetrying();
    const server = this.server?.server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** The control socket, or why there is none (hbd runs without it). */
export async function openControlSocket(
  stateDir: string,
  handle: ControlHandler,
  deps: { readonly uid: number; readonly clock: Clock; readonly log: Logger },
): Promise<{ server: NetServer; problem: null } | { server: undefined; problem: string }> {
  const path = controlSocketPath(stateDir);
  try {
    return { server: await startControlSocket(path, handle, deps.uid, deps.clock, (note) => deps.log.warn(note)), problem: null };
  } catch (error) {
    const problem = `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    deps.log.error(`NO CONTROL SOCKET (${problem}): maintenance, reload over the socket and -c deferrals are unavailable; a -c fences as upstream's does`);
    return { server: undefined, problem };
  }
}
