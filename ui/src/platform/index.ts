// Picks the adapter: Tauri inside the desktop app, HTTP in a normal browser.
import type { Platform } from "./api";
import { httpPlatform } from "./http";
import { tauriPlatform } from "./tauri";

export { ApiError } from "./api";
export type { Platform } from "./api";
export { REMEDY, type Remedy } from "./errors";

export const platform: Platform =
  "__TAURI_INTERNALS__" in window ? tauriPlatform() : httpPlatform();
