import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINT_ERROR_CODES,
  CheckpointConflictError,
  UnserializableValueError,
  WaypointError,
  serializeError,
} from "@waypoint/checkpoint";

const docs = new URL("../../../docs/errors/", import.meta.url);

describe("errors", () => {
  it("has a docs/errors page for every code, which names the code", () => {
    for (const code of CHECKPOINT_ERROR_CODES) {
      const page = new URL(`${code}.md`, docs);
      expect(existsSync(page), `docs/errors/${code}.md`).toBe(true);
      expect(readFileSync(page, "utf8")).toContain(code);
    }
  });

  it("serialises to { name, code, message, cause, data } and survives JSON", () => {
    const error = new CheckpointConflictError({
      threadId: "t",
      namespace: "",
      expectedHeadId: "a",
      actualHeadId: "b",
    });
    const wrapped = new WaypointError("CUSTOM", "outer", { cause: error, data: { attempt: 2 } });
    const json = JSON.parse(JSON.stringify(wrapped)) as ReturnType<typeof serializeError>;
    expect(json).toEqual({
      name: "WaypointError",
      code: "CUSTOM",
      message: "outer",
      data: { attempt: 2 },
      cause: {
        name: "CheckpointConflictError",
        code: "CHECKPOINT_CONFLICT",
        message: error.message,
        data: { threadId: "t", namespace: "", expectedHeadId: "a", actualHeadId: "b" },
      },
    });
    expect(serializeError("plain text")).toEqual({ name: "Error", message: "plain text" });
  });

  it("says what was wrong and where", () => {
    const error = new UnserializableValueError(
      'channel "notes"',
      "notes[2].cb",
      "a function cannot be saved",
    );
    expect(error.message).toBe(
      'Cannot save channel "notes" at notes[2].cb: a function cannot be saved',
    );
    expect(error).toBeInstanceOf(WaypointError);
    expect(error.name).toBe("UnserializableValueError");
  });
});
