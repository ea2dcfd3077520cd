import { describe, expect, it } from "vitest";
import { setupNeeded } from "./setup";

describe("first-run guidance", () => {
  it("asks for a key for a remote endpoint, not for a local one", () => {
    for (const baseUrl of [
      "https://api.openai.com/v1",
      "http://10.0.0.5:8000/v1",
      "https://localhost.evil.example/v1",
    ]) {
      expect(setupNeeded({ baseUrl, model: "m", apiKeySource: "none" })).toMatch(/No API key/);
      expect(setupNeeded({ baseUrl, model: "m", apiKeySource: "keyring" })).toBeNull();
      expect(setupNeeded({ baseUrl, model: "m", apiKeySource: "environment" })).toBeNull();
    }
    for (const baseUrl of [
      "http://127.0.0.1:11434/v1",
      "http://localhost:8080/v1",
      "http://[::1]:1234/v1",
      "http://localhost",
    ]) {
      expect(setupNeeded({ baseUrl, model: "llama", apiKeySource: "none" })).toBeNull();
    }
  });

  it("says what the policy wants when the credential is not where it must come from", () => {
    const credentialError =
      'model.credentials = "oauth" (admin requirement /etc/warden/requirements.toml): not signed in to model';
    for (const baseUrl of ["https://llm.corp.example/v1", "http://127.0.0.1:8080/v1"]) {
      for (const apiKeySource of ["none", "keyring", "environment"] as const) {
        expect(setupNeeded({ baseUrl, model: "m", apiKeySource, credentialError })).toBe(
          credentialError,
        );
      }
    }
    expect(setupNeeded({ baseUrl: "", model: "m", apiKeySource: "none", credentialError })).toMatch(
      /No model/,
    );
  });

  it("asks for a model first", () => {
    expect(
      setupNeeded({ baseUrl: "https://api.openai.com/v1", model: " ", apiKeySource: "keyring" }),
    ).toMatch(/No model/);
    expect(setupNeeded({ baseUrl: "", model: "m", apiKeySource: "keyring" })).toMatch(/No model/);
  });
});
