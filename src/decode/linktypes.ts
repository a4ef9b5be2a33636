/** LINKTYPE_* values the decoder understands. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_12 = 12; // DLT_RAW on some BSDs
export const LINKTYPE_RAW_14 = 14; // DLT_RAW on others
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'ETHERNET',
  12: 'RAW (12)',
  14: 'RAW (14)',
  101: 'RAW',
  105: 'IEEE802_11',
  108: 'LOOP',
  113: 'LINUX_SLL',
  127: 'IEEE802_11_RADIOTAP',
  147: 'USER0',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

/** The libpcap name of a link type (without the LINKTYPE_ prefix), or `LINKTYPE_<n>`. */
export function linktypeName(linktype: number): string {
  return NAMES[linktype] ?? `LINKTYPE_${linktype}`;
}

/** True for link types the decoder reads. */
export function isSupportedLinktype(linktype: number): boolean {
  switch (linktype) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}
