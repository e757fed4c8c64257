import { connectionError, formatDetail, LOGIN_HINT, toApiError } from "./client";

describe("toApiError", () => {
  it("shows status, code and detail, takes the request id from the body, and hints at login on 401", () => {
    const err = toApiError(401, new Headers(), { detail: "Not authenticated", code: "UNAUTHENTICATED", request_id: "req_1" });
    expect(err.message).toBe("401 UNAUTHENTICATED: Not authenticated");
    expect(err.requestId).toBe("req_1");
    expect(err.hint).toBe(LOGIN_HINT);
    expect(err.exitCode).toBe(1);
  });

  it("points at the server key, not login, when a System API call is refused", () => {
    expect(toApiError(401, new Headers(), { detail: "bad key" }, "server-key").hint).toMatch(/--server-key/);
  });

  it("lists 422 validation entries one per line", () => {
    const err = toApiError(422, new Headers({ "x-request-id": "req_h" }), {
      detail: [
        { loc: ["body", "provider"], msg: "field required", type: "missing" },
        { loc: ["body", "config", "size"], msg: "must be a number", type: "type" },
      ],
      code: "VALIDATION_FAILED",
    });
    expect(err.message).toBe("422 VALIDATION_FAILED:\n  body.provider: field required\n  body.config.size: must be a number");
    expect(err.requestId).toBe("req_h");
  });

  it("renders object details (dependency validation) with their fields", () => {
    expect(formatDetail({ message: "Dependency validation failed", missing_dependencies: ["resource:a_b_c"] })).toBe(
      'Dependency validation failed\nmissing_dependencies: ["resource:a_b_c"]',
    );
  });

  it("tells the user how to set a project when the gateway needs one", () => {
    expect(toApiError(400, new Headers(), { detail: "X-Project-Id header is required" }).hint).toMatch(/--project/);
  });
});

describe("connectionError", () => {
  it("names the URL and suggests fixing the context", () => {
    const err = connectionError("http://localhost:8080", Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }));
    expect(err.message).toBe("cannot reach the API at http://localhost:8080 (ECONNREFUSED)");
    expect(err.hint).toMatch(/pragma config set-context/);
    expect(err.exitCode).toBe(1);
  });
});
