// mailauth@4.9.5 ships no types (docs/gateway.md §2): the few fields the gateway reads.

declare module 'mailauth' {
  export type MailauthResolver = (name: string, rrtype: string) => Promise<unknown>;

  export interface MailauthStatus {
    result: string;
    comment?: string | false;
  }

  export interface AuthenticateResult {
    dkim: { results?: { signingDomain?: string; status: MailauthStatus }[] };
    spf: { domain?: string; status: MailauthStatus } | false | undefined;
    dmarc: { status: MailauthStatus & { header?: { from?: string } }; domain?: string } | false;
    headers: string;
  }

  export function authenticate(
    input: Buffer | string,
    options: {
      ip: string;
      helo: string;
      sender: string;
      mta: string;
      resolver: MailauthResolver;
      disableArc?: boolean;
      disableBimi?: boolean;
      trustReceived?: boolean;
    },
  ): Promise<AuthenticateResult>;
}
