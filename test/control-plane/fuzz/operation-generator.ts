// fast-check generator of GraphQL operations walked from the schema: random root fields and selections, with arguments
// that are right, wrong-typed, out of range, missing or unknown, inline or as variables of the right or wrong type.
import fc from "fast-check";
import { CREDENTIAL_MARK } from "../../support/secret-scan.ts";
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
} from "graphql";

export interface GeneratedOperation {
  query: string;
  variables: Record<string, unknown>;
  /** The root field, for the tally. */
  root: string;
}

/** The random choices one operation is built from: a stream of numbers consumed as the walk goes. */
class Choices {
  private at = 0;
  constructor(private readonly numbers: number[]) {}
  next(n: number): number {
    const value = this.numbers[this.at++ % this.numbers.length]!;
    return n <= 1 ? 0 : value % n;
  }
  chance(percent: number): boolean {
    return this.next(100) < percent;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.next(items.length)]!;
  }
}

const WRONG_LITERALS = ['"text"', "42", "-1", "3.5", "true", "null", "[]", "{}", '{ x: 1 }', '["a", 1]', "NOT_AN_ENUM", "2147483648", "1e400", '""'];
const STRINGS = ['""', '"a"', '"  spaced  "', JSON.stringify("x".repeat(300)), JSON.stringify("é漢字🙂"), JSON.stringify("'; DROP TABLE \"User\"; --"), '"\\u0000"', '"not-a-uuid"', '"00000000-0000-0000-0000-000000000000"'];
const INTS = ["0", "1", "-1", "5", "50", "100000", "2147483647", "-2147483648"];
const FLOATS = ["0", "0.5", "-1.5", "1e308"];
const MONEY = ['"0"', '"1.00"', '"-5"', '"abc"', '"1e9"', '"0.0000001"', '"99999999999999999999"'];
const DATES = ['"2026-01-01T00:00:00Z"', '"yesterday"', '"1970-01-01T00:00:00.000Z"', '"9999-12-31T23:59:59Z"', '"2026-13-45"'];

export class OperationBuilder {
  private variables: Record<string, unknown> = {};
  /** Some operations make no deliberate mistake, so resolvers run, not only validation. */
  private readonly clean: boolean;
  private declarations: string[] = [];
  private aliases = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly ids: readonly string[],
    private readonly c: Choices,
  ) {
    this.clean = c.chance(40);
  }

  private mistake(percent: number): boolean {
    return !this.clean && this.c.chance(percent);
  }

  build(): GeneratedOperation {
    const mutation = this.c.chance(50);
    const root = (mutation ? this.schema.getMutationType() : this.schema.getQueryType())!;
    const fields = Object.values(root.getFields());
    const chosen = [this.c.pick(fields), ...(this.c.chance(20) ? [this.c.pick(fields)] : [])];
    const body = chosen.map((f) => this.field(f, 0)).join(" ");
    const head = this.declarations.length > 0 ? `(${this.declarations.join(", ")})` : "";
    return { query: `${mutation ? "mutation" : "query"} Fuzz${head} { ${body} }`, variables: this.variables, root: chosen[0]!.name };
  }

  private field(field: GraphQLField<unknown, unknown>, depth: number): string {
    const alias = this.c.chance(10) ? `a${++this.aliases}: ` : "";
    const args = this.arguments(field.args);
    return `${alias}${field.name}${args}${this.selection(getNamedType(field.type), depth + 1)}`;
  }

  private arguments(args: readonly GraphQLArgument[]): string {
    const parts: string[] = [];
    for (const arg of args) {
      // Missing, even when required, now and then.
      if (isNonNullType(arg.type) ? this.mistake(5) : this.c.chance(50)) continue;
      parts.push(`${arg.name}: ${this.argumentValue(arg.type)}`);
    }
    if (this.mistake(5)) parts.push(`unknownArgument: ${this.c.pick(WRONG_LITERALS)}`);
    return parts.length > 0 ? `(${parts.join(", ")})` : "";
  }

  /** A literal, or a variable declared with the argument's type (or a wrong one) and a JSON value right or wrong. */
  private argumentValue(type: GraphQLInputType): string {
    if (!this.c.chance(20)) return this.value(type, 0);
    const name = `v${this.declarations.length}`;
    const declared = !this.mistake(15) ? String(type) : this.c.pick(["String", "Int!", "[ID]", "Boolean", "JSON"]);
    this.declarations.push(`$${name}: ${declared}`);
    const literal = this.value(type, 0);
    let json: unknown;
    try {
      json = JSON.parse(literal);
    } catch {
      json = this.c.pick<unknown>(["text", 7, -1, null, true, [1, "a"], { x: 1 }, "2147483648"]);
    }
    if (!this.mistake(10)) this.variables[name] = json;
    return `$${name}`;
  }

  private value(type: GraphQLInputType, depth: number, name = ""): string {
    if (this.mistake(8)) return this.c.pick(WRONG_LITERALS);
    if (isNonNullType(type)) return this.value(type.ofType, depth, name);
    // Credentials are marked (secret-scan.ts) so the secrets scan can tell if one shows up anywhere; any other string
    // would be remembered as a credential and then flagged wherever the fuzz also used it as, say, a name.
    if (name === "credentials" && isScalarType(type)) return JSON.stringify(`sk-${CREDENTIAL_MARK}fuzz-${this.c.next(1000)}`);
    if (isListType(type)) {
      const n = this.c.next(3);
      return `[${Array.from({ length: n }, () => this.value(type.ofType, depth + 1)).join(", ")}]`;
    }
    if (isEnumType(type)) return this.c.pick(type.getValues()).name;
    if (isInputObjectType(type)) {
      if (depth > 3) return "{}";
      const parts: string[] = [];
      for (const f of Object.values(type.getFields())) {
        if (isNonNullType(f.type) ? this.mistake(5) : this.c.chance(50)) continue;
        parts.push(`${f.name}: ${this.value(f.type, depth + 1, f.name)}`);
      }
      if (this.mistake(5)) parts.push("notAField: 1");
      return `{ ${parts.join(", ")} }`;
    }
    if (isScalarType(type)) return this.scalar(type.name);
    return "null";
  }

  private scalar(name: string): string {
    switch (name) {
      case "ID":
        return this.c.chance(70) && this.ids.length > 0 ? JSON.stringify(this.c.pick(this.ids)) : this.c.pick(STRINGS);
      case "Int":
        return this.c.pick(INTS);
      case "Float":
        return this.c.pick(FLOATS);
      case "Boolean":
        return this.c.pick(["true", "false"]);
      case "DateTime":
        return this.c.pick(DATES);
      case "JSON":
        return this.c.pick(['{ a: 1 }', "[1, 2]", '"s"', "null", "{ apiKey: \"x\" }"]);
      default:
        // String and the string-encoded scalars (money amounts among them).
        return this.c.chance(30) ? this.c.pick(MONEY) : this.c.pick(STRINGS);
    }
  }

  private selection(type: GraphQLNamedType, depth: number): string {
    if (isLeafType(type)) return "";
    if (isUnionType(type) || isInterfaceType(type)) {
      const members = isUnionType(type) ? type.getTypes() : this.schema.getPossibleTypes(type);
      const fragments = members.filter(() => this.c.chance(60)).map((m) => `... on ${m.name} ${this.objectSelection(m, depth)}`);
      return `{ __typename ${isUnionType(type) && this.c.chance(70) ? "... on Error { code message }" : ""} ${fragments.join(" ")} }`;
    }
    if (isObjectType(type)) return this.objectSelection(type, depth);
    return "";
  }

  private objectSelection(type: GraphQLObjectType, depth: number): string {
    const fields = Object.values(type.getFields());
    if (depth > 4) return "{ __typename }";
    const picked = fields.filter(() => this.c.chance(35)).slice(0, 5);
    const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)));
    if (picked.length === 0 && leaves.length > 0) picked.push(this.c.pick(leaves));
    return `{ __typename ${picked.map((f) => this.field(f, depth)).join(" ")} }`;
  }
}

/** Random operations from the schema; `ids` are existing objects, so some arguments hit real rows. */
export function operations(schema: GraphQLSchema, ids: readonly string[]): fc.Arbitrary<GeneratedOperation> {
  return fc.array(fc.nat(), { minLength: 64, maxLength: 64 }).map((numbers) => new OperationBuilder(schema, ids, new Choices(numbers)).build());
}
