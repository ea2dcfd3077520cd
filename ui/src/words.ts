/** `1 event`, `2 events`: a count and its noun, singular for one. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
