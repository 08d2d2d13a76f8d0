// The page's keys are shortcuts whatever has focus (a tap radio, a menu, the pace slider), except in a field
// the person is typing into.
const NOT_TYPED = new Set(["radio", "checkbox", "range", "button", "submit", "reset", "color", "file", "image"]);

export function typing(target) {
  if (target.isContentEditable || target.tagName === "TEXTAREA") return true;
  return target.tagName === "INPUT" && !NOT_TYPED.has(target.type);
}
