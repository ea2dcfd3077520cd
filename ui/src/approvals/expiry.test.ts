import { describe, expect, it } from "vitest";
import { expiryText } from "./expiry";

describe("approval expiry", () => {
  it("counts whole seconds up, so the last second still shows", () => {
    expect(expiryText(60_000, 0)).toBe("Refused in 60 s without an answer");
    expect(expiryText(60_000, 59_500)).toBe("Refused in 1 s without an answer");
  });

  it("says when the time is up", () => {
    expect(expiryText(60_000, 60_000)).toBe("No answer in time: the connection is refused");
  });
});
