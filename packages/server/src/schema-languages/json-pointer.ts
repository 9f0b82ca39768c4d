/** Appends one property name or index to a JSON Pointer, escaping per RFC 6901. */
export function pointerChild(pointer: string, key: string | number): string {
  return `${pointer}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
