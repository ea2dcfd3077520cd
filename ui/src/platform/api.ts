// The one interface the UI uses to reach Warden, whichever adapter is underneath.
import type { ApiError as WireError, ApiMethods, ErrorCode, Event } from "../generated/protocol";
import { isErrorCode } from "./errors";

export type Method = keyof ApiMethods;
export type Params<M extends Method> = ApiMethods[M]["params"];
export type Response<M extends Method> = ApiMethods[M]["response"];

/** An error from the core, with the stable code the UI branches on. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  static from(value: unknown): ApiError {
    if (value instanceof ApiError) return value;
    const wire = value as Partial<WireError> | undefined;
    if (wire && typeof wire.code === "string" && typeof wire.message === "string") {
      // A code this UI does not know (a newer core) is still an error, shown as internal.
      return new ApiError(isErrorCode(wire.code) ? wire.code : "internal", wire.message);
    }
    return new ApiError("transport", value instanceof Error ? value.message : String(value));
  }
}

export interface Platform {
  /** Which adapter this is, for the status line. */
  readonly name: "desktop" | "browser";
  call<M extends Method>(method: M, params: Params<M>): Promise<Response<M>>;
  /** Live events from every session. `onLagged` means some were missed: reload from the store. */
  subscribe(onEvent: (event: Event) => void, onLagged: () => void): Promise<() => void>;
  /**
   * The native folder picker (desktop only), opened at `start` when that is a folder's full
   * path (else at home): the chosen folder, or null if cancelled.
   */
  pickFolder?(start?: string): Promise<string | null>;
  /** A clicked notification asks for a waiting question's card (desktop only). */
  onShowApproval?(handler: (sessionId: string, callId: string) => void): Promise<() => void>;
  /** Starting at login (desktop only). */
  autostart?: {
    enabled(): Promise<boolean>;
    set(enabled: boolean): Promise<void>;
  };
}
