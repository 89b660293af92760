// The build inlines .sql files as strings (esbuild "text" loader), so the schema travels inside the bundle.
declare module '*.sql' {
  const text: string;
  export default text;
}

// The build defines the version from package.json.
declare const __JOBCTL_VERSION__: string | undefined;
