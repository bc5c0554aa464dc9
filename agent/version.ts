import packageJson from '../package.json';

export const VERSION: string = packageJson.version;

/** Our implementation identity, in every file meta header we write and every association we request (PS3.7 D.3.3.2). */
// A UUID-derived UID (PS3.5 B.2), fixed once for this product.
export const IMPLEMENTATION_CLASS_UID = '2.25.309057510696628743230267443875099345122';
export const IMPLEMENTATION_VERSION_NAME = 'DCMCLOUDGW_010';
