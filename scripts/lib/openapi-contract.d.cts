/** The types of openapi-contract.cjs, for the specs. */
type Document = Record<string, unknown>;

export interface Change {
  /** `METHOD /path`, when the change is in an operation. */
  operation?: string;
  /** Where in the document, as a JSON pointer. */
  pointer: string;
  description: string;
}

export type ChangeCounts = Record<'breaking' | 'non-breaking' | 'annotation' | 'unclassified' | 'deprecated', number>;

export declare function validateDocument(document: Document): Promise<string[]>;
export declare function compareVersions(a: string, b: string): number;
export declare function newestRelease(dir: string): { version: string; file: string };
export declare function classifyChanges(released: Document, current: Document): { breaking: Change[]; unclassified: Change[]; counts: ChangeCounts };
export declare function changelogSection(markdown: string, title: string): string | undefined;
export declare function announcements(section: string): { operations: Set<string>; pointers: string[][] };
export declare function gate(input: { released: Document; current: Document; changelog: string; version: string }): {
  ok: boolean;
  breaking: Change[];
  unannounced: Change[];
  unclassified: Change[];
  counts: ChangeCounts;
  report: string;
};
