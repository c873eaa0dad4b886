// A metric's series by label values, found with one Map lookup per label and no key string built per call.

export interface LabelledSeries<S> {
  /** The series of these values (in the order of the label names), made on first use. */
  get(values: readonly string[]): S;
  values(): readonly S[];
  clear(): void;
}

export function labelledSeries<S>(labelNames: readonly string[], create: (labels: Readonly<Record<string, string>>) => S): LabelledSeries<S> {
  let root = new Map<string, unknown>();
  let made: S[] = [];
  let unlabelled: S | null = null;

  function make(values: readonly string[]): S {
    const labels: Record<string, string> = {};
    for (let i = 0; i < labelNames.length; i++) labels[labelNames[i]!] = values[i]!;
    const series = create(labels);
    made.push(series);
    return series;
  }

  return {
    get(values) {
      if (values.length !== labelNames.length) throw new Error(`expected ${labelNames.length} label values (${labelNames.join(", ")}), got ${values.length}`);
      if (values.length === 0) return (unlabelled ??= make(values));
      let level = root;
      const last = values.length - 1;
      for (let i = 0; i < last; i++) {
        let next = level.get(values[i]!) as Map<string, unknown> | undefined;
        if (next === undefined) level.set(values[i]!, (next = new Map()));
        level = next;
      }
      let series = level.get(values[last]!) as S | undefined;
      if (series === undefined) level.set(values[last]!, (series = make(values)));
      return series;
    },
    values: () => made,
    clear() {
      root = new Map();
      made = [];
      unlabelled = null;
    },
  };
}
