global using System.Text.Json.Serialization;
global using AnalysisFacility.Operator.Runtime.Schema;
global using k8s.Models;
