/**
 * A setting from the environment: its value trimmed, or undefined when the variable is absent,
 * empty or blank (README, Settings: "empty is the same as unset"). `CONTROL_PLANE_RUNTIME_DIR=`
 * resolved to the current directory, and the server wrote its config, token and audit log there.
 */
export function envSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}
