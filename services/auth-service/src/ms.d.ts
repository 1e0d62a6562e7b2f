// ms@2 ships no type declarations; this covers the two call forms used here.
declare module "ms" {
  function ms(value: string): number | undefined;
  function ms(value: number, options?: { long?: boolean }): string;
  export = ms;
}
