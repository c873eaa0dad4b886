// Turns schema introspection off unless the configuration allows it (default: on in embedded mode, off in production).
// Not @graphql-yoga/plugin-disable-introspection: it decides per HTTP request and so never applies to operations sent
// over graphql-ws; this rule is added to every validation, whatever the transport.
import { GraphQLError, getNamedType, isIntrospectionType, type ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import { refusal } from "./refusal.ts";

const introspectionDisabled: ValidationRule = (context) => ({
  Field(node) {
    const type = getNamedType(context.getType());
    if (type && isIntrospectionType(type)) {
      context.reportError(
        refusal("INTROSPECTION_DISABLED", `introspection is disabled on this server (field "${node.name.value}")`, 400, [node]),
      );
    }
  },
});

/** Without introspection, "Did you mean …?" hints would still spell the schema out field by field. */
const withoutSuggestions = (error: Error): Error =>
  error instanceof GraphQLError && / Did you mean /.test(error.message)
    ? new GraphQLError(error.message.replace(/ Did you mean .*$/, ""), { nodes: error.nodes, extensions: error.extensions })
    : error;

export function introspectionSwitch(enabled: boolean): Plugin {
  if (enabled) return {};
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(introspectionDisabled);
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map(withoutSuggestions));
      };
    },
  };
}
