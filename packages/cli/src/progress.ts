import type { OutStream } from "./io";

import type { Progress } from "./apply/run-apply";

export type { Progress };

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FINAL = /^(ready|failed|deleted|applied|draft|not attempted|blocked|timed out)/;

/**
 * Not a TTY (CI logs, pipes): one plain line per change and no escape codes, so the
 * log reads top to bottom. On a TTY: one redrawn line per item with a spinner.
 */
export function createProgress(out: OutStream, live: boolean): Progress {
  return live ? new SpinnerProgress(out) : new LineProgress(out);
}

class LineProgress implements Progress {
  private readonly last = new Map<string, string>();
  constructor(private readonly out: OutStream) {}
  update(key: string, status: string): void {
    if (this.last.get(key) === status) return;
    this.last.set(key, status);
    this.out.write(`${key}: ${status}\n`);
  }
  stop(): void {}
}

class SpinnerProgress implements Progress {
  private readonly items = new Map<string, string>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: OutStream) {}

  update(key: string, status: string): void {
    this.items.set(key, status);
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 100);
      // The spinner must never be what keeps the process alive.
      this.timer.unref();
    }
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw(true);
  }

  private draw(final = false): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    let text = this.drawn ? `\x1b[${this.drawn}A` : "";
    for (const [key, status] of this.items) {
      const mark = FINAL.test(status) ? (status.startsWith("ready") || status.startsWith("deleted") || status.startsWith("applied") || status.startsWith("draft") ? "✔" : "✖") : final ? "…" : FRAMES[this.frame];
      text += `\x1b[2K${mark} ${key}: ${status}\n`;
    }
    this.drawn = this.items.size;
    this.out.write(text);
  }
}
