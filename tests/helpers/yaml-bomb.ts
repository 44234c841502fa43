/** A YAML alias bomb ("billion laughs"): 9 aliases per level, 9 levels, ~387 million nodes once expanded. */
export function aliasBombYaml(): string {
  let text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
  let previous = "a";
  for (const name of "bcdefghi") {
    text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(",")}]\n`;
    previous = name;
  }
  return text;
}
