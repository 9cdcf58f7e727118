/** One row of the report's figures table, shared by the scenarios' report parts. */
export interface Row {
  figure: string;
  measured: string;
  target: string;
  baseline: string;
  /** Whether a target was met; undefined for figures that have none. */
  met: boolean | undefined;
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** A row that reports a figure without a target. */
export const infoRow = (figure: string, measured: string, baseline = ''): Row => ({
  figure,
  measured,
  target: '',
  baseline,
  met: undefined,
});
