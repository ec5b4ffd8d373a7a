// Messages between a fuzz test (the parent) and its child (driver/child.ts).

export interface PropertiesInput {
  /** The file's text, or its bytes (decoded as the agent does, ISO-8859-1) when `bytes` is set. */
  readonly text: string;
  readonly bytes?: readonly number[] | undefined;
  /** Read through readPropertiesFile from a file in the child's folder, not parsed from memory. */
  readonly viaFile: boolean;
  /** A key and value for setProperty / unsetProperty on the same text. */
  readonly key: string;
  readonly value: string;
}

export interface ScenarioInput {
  readonly json: string;
  readonly propertiesText: string;
  readonly policy: "hb" | "upstream";
}

export interface DrbdInput {
  readonly format: "events2" | "status-json" | "show-json";
  readonly text: string;
}

export interface HbdInput {
  /** Any JSON value, as hbd's status document would arrive. */
  readonly document: unknown;
  /** The storage of a -c: an NFS mount point, or shared-block (LINSTOR). */
  readonly storage: string | "shared-block";
}

export interface ProgramAnswer {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
}

/** What the fake Executor answers for the programs it does not start. */
export interface Answers {
  /** The control client's stdout (its JSON reply), or null to run the real client. */
  readonly control: string | null;
  readonly drbdsetup: { readonly events2: ProgramAnswer; readonly status: ProgramAnswer; readonly show: ProgramAnswer };
  /** Every other program (logger, systemctl, mount, sync, wdctl, modprobe…). */
  readonly program: ProgramAnswer;
}

export interface ArgvInput {
  readonly argv: readonly string[];
  readonly agentProps: string;
  /** Written to fuzzed.properties in the child's folder before the run. */
  readonly propertiesText: string;
  /** Written to scenario.json in the child's folder before the run. */
  readonly scenarioText: string;
  readonly answers: Answers;
}

export type Request = { readonly id: number } & (
  | { readonly kind: "properties"; readonly input: PropertiesInput }
  | { readonly kind: "scenario"; readonly input: ScenarioInput }
  | { readonly kind: "drbd"; readonly input: DrbdInput }
  | { readonly kind: "hbd"; readonly input: HbdInput }
  | { readonly kind: "argv"; readonly input: ArgvInput }
);
export type RequestKind = Request["kind"];
export type InputOf<K extends RequestKind> = Extract<Request, { kind: K }>["input"];

export type Outcome =
  | { readonly outcome: "ok"; readonly result?: unknown }
  /** A named error: an HbError whose code the CLI maps to an exit code. */
  | { readonly outcome: "named"; readonly code: string; readonly message: string }
  /** Anything else that escaped, with its stack. */
  | { readonly outcome: "unnamed"; readonly message: string };

export type Reply = ({ readonly id: number } & Outcome) | { readonly ready: true };

/** An error outside any call: an uncaught exception or unhandled rejection in the child. */
export interface StrayReport {
  readonly stray: "uncaughtException" | "unhandledRejection";
  readonly message: string;
}

export interface ArgvResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
