namespace AnalysisFacility.Operator.Runtime.Cache;

public enum InformerEventType { Added, Modified, Deleted, Resync }
