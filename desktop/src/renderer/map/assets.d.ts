/** Vite's `?url` imports: the built file's address (the file itself is emitted as an asset). */
declare module '*?url' {
  const url: string;
  export default url;
}
