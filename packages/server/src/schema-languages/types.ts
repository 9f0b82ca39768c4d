/** One violation of a schema by an instance: where, what, and which rule of the schema failed. */
export interface ValidationIssue {
  /** JSON Pointer (RFC 6901) into the instance; '' is the whole document. */
  path: string;
  message: string;
  /** The schema rule that failed: a JSON Schema keyword, or the CUE constraint. */
  rule: string;
  /** Where that rule sits: a JSON Schema pointer (`#/properties/x/maximum`) or a CUE position (`zones.cue:5:33`). */
  schema_location: string;
}

export interface SchemaDocumentInput {
  name: string;
  data: string;
}

/** A compiled schema, ready to validate parsed instances without compiling again. */
export interface InstanceValidator {
  validate(value: unknown, text: string): Promise<ValidationIssue[]>;
}
