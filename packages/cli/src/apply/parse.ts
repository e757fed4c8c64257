import YAML from "yaml";
import type { Problem, Source } from "./problem";

export interface SourceDocument {
  source: Source;
  value: unknown;
}

/**
 * Splits one file into its YAML documents. Empty documents (a trailing `---`, comments
 * only) are skipped but still counted, so "document 3" is the third one a reader sees.
 */
export function parseDocuments(text: string, file: string): { documents: SourceDocument[]; problems: Problem[] } {
  const documents: SourceDocument[] = [];
  const problems: Problem[] = [];
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for an empty file.
    return { documents, problems: [{ source: { file, document: 0 }, message: "the file holds no documents" }] };
  }
  docs.forEach((doc, i) => {
    const source = { file, document: i + 1 };
    if (doc.errors.length) {
      for (const err of doc.errors) {
        const at = err.linePos?.[0];
        const where = at ? `line ${at.line}, column ${at.col}: ` : "";
        problems.push({ source, message: `invalid YAML: ${where}${err.message.split("\n")[0]}` });
      }
      return;
    }
    const value = doc.toJS();
    if (value === null || value === undefined) return;
    documents.push({ source, value });
  });
  if (!documents.length && !problems.length) problems.push({ source: { file, document: 0 }, message: "the file holds no documents" });
  return { documents, problems };
}
