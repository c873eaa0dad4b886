// The list queries' search: any of the named text columns contains the term, ignoring case; blank means everything.

type Contains = { contains: string; mode: "insensitive" };

/** `{}` for a blank term, so it can be spread or AND-ed into any model's where clause. */
export function textSearch<F extends string>(search: string | null | undefined, fields: readonly F[]): { OR?: Partial<Record<F, Contains>>[] } {
  const term = search?.trim();
  if (!term) return {};
  return { OR: fields.map((field) => ({ [field]: { contains: term, mode: "insensitive" } }) as Partial<Record<F, Contains>>) };
}
