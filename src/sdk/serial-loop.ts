// One pass of an async body at a time, kicks coalesced: a kick while a pass runs asks for one more
// pass after it, however many kicks came. The setpoint subscription (claim, handle, ack) and the
// journaled run's control (claims, failures) are such loops, woken by NOTIFY, polls and replies.

export class SerialLoop {
  private pass: Promise<void> | undefined;
  private again = false;

  /**
   * body: one pass. onError: a pass threw (not called once stopped). stopped: no pass starts, and
   * none is repeated, once it returns true.
   */
  constructor(
    private readonly body: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly stopped: () => boolean,
  ) {}

  /** Runs a pass now, or one more after the pass in flight. */
  kick(): void {
    if (this.stopped()) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = (async () => {
      do {
        this.again = false;
        try {
          await this.body();
        } catch (error) {
          if (!this.stopped()) this.onError(error);
        }
      } while (this.again && !this.stopped());
      this.pass = undefined;
    })();
  }

  /** Resolves when the pass in flight, and the ones it asked for, have ended. */
  idle(): Promise<void> {
    return this.pass ?? Promise.resolve();
  }
}
