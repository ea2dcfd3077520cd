import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { REMEDY, isErrorCode, remedyLabel } from "./errors";

describe("error codes", () => {
  it("sends model and keyring failures to Settings, a missing workspace to its field", () => {
    expect(REMEDY.model_unreachable).toBe("settings");
    expect(REMEDY.keyring).toBe("settings");
    expect(REMEDY.workspace_missing).toBe("workspace");
    expect(remedyLabel(REMEDY.model_unauthorized)).toBe("Open Settings");
  });

  it("reads a wire error's code, and an unknown one as internal", () => {
    expect(ApiError.from({ code: "audit_busy", message: "busy" }).code).toBe("audit_busy");
    expect(ApiError.from({ code: "from_the_future", message: "?" }).code).toBe("internal");
    expect(ApiError.from(new Error("offline")).code).toBe("transport");
    expect(isErrorCode("config_parse")).toBe(true);
    expect(isErrorCode("constructor")).toBe(false);
  });
});
