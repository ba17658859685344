/**
 * The Settings page's sections. A feature adds its own section from its module with `registerSettingsSection`;
 * the page draws them in `order`. Orders in use and reserved (leave gaps):
 *   10 Profile (name, time zone, language) · 20 Password · 30 Two-step verification · 40 Passkeys
 *   50 Linked channels · 60 What an LLM may see · 70 Access tokens · 80 Export and account deletion   (reserved)
 *   90 Sessions (sign out everywhere)
 */

/**
 * @typedef {object} SettingsSection
 * @property {string} id unique, used for the section's heading id (`settings-<id>-h`) and its anchor
 * @property {string} title the section's heading
 * @property {number} order where it stands on the page
 * @property {(ctx: { redraw: () => Promise<void> }) => Node | Node[] | Promise<Node | Node[]>} render its content
 */

/** @type {SettingsSection[]} */
const sections = [];

/** @param {SettingsSection} section */
export function registerSettingsSection(section) {
  if (sections.some((s) => s.id === section.id)) throw new Error(`Settings section ${section.id} is registered twice.`);
  if (!/^[a-z][a-z0-9-]*$/.test(section.id)) throw new Error(`Settings section id ${section.id} is not a slug.`);
  sections.push(section);
}

/** The registered sections in page order. */
export function settingsSections() {
  return [...sections].sort((a, b) => a.order - b.order);
}
