import { describe, expect, it } from "vitest";
import { counted } from "./words";

describe("counted", () => {
  it("uses the singular for one and the plural otherwise", () => {
    expect(counted(1, "event")).toBe("1 event");
    expect(counted(0, "event")).toBe("0 events");
    expect(counted(12, "session")).toBe("12 sessions");
  });
});
