// First run: what is missing before a session can reach a model, in one sentence, or
// null when nothing is. A local endpoint (loopback) may need no key.
import type { SettingsResponse } from "../generated/protocol";

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/i;

export function setupNeeded(
  s: Pick<SettingsResponse, "baseUrl" | "model" | "apiKeySource" | "credentialError">,
): string | null {
  if (!s.baseUrl.trim() || !s.model.trim()) {
    return "No model is set up yet: choose the model endpoint and model in Settings.";
  }
  // The policy says where the credential must come from, and it is not there (a sign-in
  // with the identity provider, or a key in the keyring rather than the environment).
  if (s.credentialError) return s.credentialError;
  if (s.apiKeySource === "none" && !LOOPBACK.test(s.baseUrl.trim())) {
    return `No API key is stored for ${s.baseUrl.trim()} yet: add it in Settings (it is kept in the OS keyring).`;
  }
  return null;
}
