// Key helpers shared by the screens: "yes" is Y in English and O (oui) in French.
export function isYes(input: string): boolean {
  return /^[yo]$/i.test(input);
}

export function isNo(input: string): boolean {
  return /^n$/i.test(input);
}
