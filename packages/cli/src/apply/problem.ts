/** Where a problem sits: the file and the 1-based document number within it. */
export interface Source {
  file: string;
  document: number;
}

export interface Problem {
  source?: Source;
  message: string;
}

export function describeSource(s: Source): string {
  return `${s.file} document ${s.document}`;
}

export function formatProblem(p: Problem): string {
  return p.source ? `${describeSource(p.source)}: ${p.message}` : p.message;
}
