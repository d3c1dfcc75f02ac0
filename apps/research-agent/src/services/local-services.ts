import type { ResearchServices } from "../graph.js";
import { corpusClient, startCorpusServer, type CorpusServer } from "./corpus.js";
import { mailClient, startMailSink, type MailSink } from "./mail-sink.js";
import { ExtractiveSummariser } from "./summariser.js";

export interface LocalServices {
  readonly corpus: CorpusServer;
  readonly mail: MailSink;
  /** Clients of the two servers, and the local summariser: what the graph needs. */
  readonly services: ResearchServices;
  close(): Promise<void>;
}

/** The corpus server and the mail sink on 127.0.0.1, and the local model. */
export async function startLocalServices({ pages }: { pages: number }): Promise<LocalServices> {
  const [corpus, mail] = await Promise.all([startCorpusServer({ pages }), startMailSink()]);
  return {
    corpus,
    mail,
    services: {
      corpus: corpusClient(corpus.url),
      mail: mailClient(mail.url),
      model: new ExtractiveSummariser(),
    },
    close: async () => {
      await Promise.all([corpus.close(), mail.close()]);
    },
  };
}
