/** The types of openapi-contract.cjs, for the specs. */
type Document = Record<string, unknown>;

export declare function validateDocument(document: Document): Promise<string[]>;
