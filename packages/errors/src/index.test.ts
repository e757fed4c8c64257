import { AppError, ERROR_CODES, HTTP_STATUS } from "./index";

describe("AppError", () => {
  it("maps every code to a status", () => {
    for (const code of ERROR_CODES) expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
  });

  it("round-trips through its wire form", () => {
    const err = new AppError("NOT_FOUND", "Resource not found: a/b/c");
    const back = AppError.fromJSON(JSON.parse(JSON.stringify(err)));
    expect(back.code).toBe("NOT_FOUND");
    expect(back.detail).toBe("Resource not found: a/b/c");
    expect(back.status).toBe(404);
  });

  it("turns anything unknown into a generic internal error", () => {
    const back = AppError.fromJSON({ code: "SOMETHING_ELSE", detail: "secret internals" });
    expect(back.code).toBe("INTERNAL");
    expect(back.detail).toBe("Internal server error");
  });
});
