// The desktop adapter: Tauri commands and events.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Event } from "../generated/protocol";
import { ApiError, type Method, type Params, type Platform, type Response } from "./api";

export function tauriPlatform(): Platform {
  return {
    name: "desktop",
    async call<M extends Method>(method: M, params: Params<M>): Promise<Response<M>> {
      try {
        return await invoke<Response<M>>("api", { method, params });
      } catch (e) {
        throw ApiError.from(e);
      }
    },
    async pickFolder(start) {
      return (await invoke<string | null>("pick_folder", { start: start ?? null })) ?? null;
    },
    async onShowApproval(handler) {
      return listen<{ sessionId: string; callId: string }>("warden://show-approval", (e) =>
        handler(e.payload.sessionId, e.payload.callId),
      );
    },
    autostart: {
      enabled: () => invoke<boolean>("autostart_enabled"),
      set: (enabled: boolean) => invoke<void>("set_autostart", { enabled }),
    },
    async subscribe(onEvent, onLagged) {
      const events = await listen<Event[]>("warden://events", (e) => e.payload.forEach(onEvent));
      const lagged = await listen("warden://lagged", () => onLagged());
      return () => {
        events();
        lagged();
      };
    },
  };
}
