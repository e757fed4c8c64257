/** Resource ids are unique within a tenant scope only, so every per-resource key carries the scope. */
export interface ScopedResource {
  org_id: string;
  project_id: string;
  space_id: string;
  resource_id: string;
}

export const scopedKey = (r: ScopedResource) => `${r.org_id}/${r.project_id}/${r.space_id}/${r.resource_id}`;
