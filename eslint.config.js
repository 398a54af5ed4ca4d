import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".sst/", ".build/", "cdk.out/", "out/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
      eqeqeq: ["error", "smart"],
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "aws-sdk-client-mock",
              importNames: ["mockClient", "AwsStub"],
              message: "Use mockClient from @spot-manager/aws-fakes: it holds every faked request to the AWS service's published API contract.",
            },
          ],
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: 'Use `import * as z from "zod"`: the `z` object keeps every locale in the Lambda bundle.',
        },
      ],
    },
  },
  {
    // The one place the unchecked mock is wrapped.
    files: ["packages/aws-fakes/src/**"],
    rules: { "no-restricted-imports": "off" },
  },
);
