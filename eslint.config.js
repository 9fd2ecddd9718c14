// eslint's flat config: typescript-eslint's recommended rules on every TypeScript file. Formatting
// is prettier's job (`npm run lint` runs both), so no stylistic rule lives here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".pulumi-state/", "bin/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Narrow `any` at the boundaries (JSON from servers, Pulumi mocks) is deliberate and local.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
);
