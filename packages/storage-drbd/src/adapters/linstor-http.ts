import { LinstorQueryError } from "../errors.js";
import { parseLinstorNodes, type LinstorNode, type LinstorNodeSource } from "../linstor.js";

/**
 * Asks a LINSTOR controller's REST API for its nodes (`GET <controller>/v1/nodes`), bounded by
 * a deadline that covers connecting, the answer and its body. Not storage I/O: a plain HTTP
 * request that an AbortSignal can cut.
 */
export class HttpLinstorNodes implements LinstorNodeSource {
  readonly url: string;
  private readonly target: URL | undefined;

  /** @param controller `hb.linstor.controller`, e.g. http://10.0.0.2:3370 */
  constructor(controller: string) {
    let target: URL | undefined;
    try {
      const base = new URL(controller);
      if (base.protocol === "http:" || base.protocol === "https:") target = new URL("v1/nodes", base.href.endsWith("/") ? base.href : `${base.href}/`);
    } catch {
      target = undefined;
    }
    this.target = target;
    this.url = target?.href ?? controller;
  }

  async listNodes(deadlineMs: number, signal?: AbortSignal): Promise<readonly LinstorNode[]> {
    if (this.target === undefined) throw new LinstorQueryError(this.url, "hb.linstor.controller is not an http(s) URL");
    const deadline = AbortSignal.timeout(deadlineMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
    const failed = (error: unknown, during: string) =>
      new LinstorQueryError(
        this.url,
        deadline.aborted ? `no answer within ${deadlineMs} ms` : signal?.aborted === true ? "stopped before it answered" : `${during}: ${describe(error)}`,
        { cause: error },
      );
    let response: Response;
    try {
      response = await fetch(this.target, { signal: combined, headers: { accept: "application/json" } });
    } catch (error) {
      throw failed(error, "unreachable");
    }
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      throw failed(error, "answer cut off");
    }
    if (!response.ok) throw new LinstorQueryError(this.url, `HTTP ${response.status} ${response.statusText}`.trim());
    return parseLinstorNodes(body, this.url);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
