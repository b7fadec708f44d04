// Lists come in pages (?limit=&offset=, answered with next_offset); a page that needs the
// whole list follows them. `get(path)` is the page's own JSON GET.
export async function everything(get, path, key) {
  const items = [];
  let offset = 0;
  while (offset !== null && offset !== undefined) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(`${path}${sep}limit=500&offset=${offset}`);
    items.push(...page[key]);
    offset = page.next_offset;
  }
  return { [key]: items };
}
